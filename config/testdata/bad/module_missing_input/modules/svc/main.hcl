variable "name" { type = string }
exec "run" { command = ["echo", var.name] }
