b = "x"
a = var.b # ERROR: Variables not allowed
