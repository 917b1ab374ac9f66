variable "name" { type = string }
variable "port" { default = 80 }
exec "run" { command = ["echo", var.name, var.port] }
