variable { # ERROR: Missing name for variable
  default = "x"
}
