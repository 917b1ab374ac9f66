variable "replicas" { # ERROR: Invalid value for variable
  type    = number
  default = 1
}
