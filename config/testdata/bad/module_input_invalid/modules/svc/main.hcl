variable "port" { type = number }
variable "name" {
  type = string
  validation {
    condition     = var.name != "x"
    error_message = "The name needs three characters or more."
  }
}
exec "run" { command = ["echo", var.name, var.port] }
