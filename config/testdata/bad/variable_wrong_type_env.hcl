variable "ports" { # ERROR: Invalid value for variable
  type    = list(number)
  default = []
}
