variable "tag" {
  default = "a"
}

variable "tag" { # ERROR: Duplicate variable
  default = "b"
}
