variable "token" { # ERROR: No value for required variable
  type = string
}
