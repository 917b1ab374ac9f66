variable "in" { default = "" }
output "out" { value = "${var.in}!" }
