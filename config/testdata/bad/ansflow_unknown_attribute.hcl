ansflow {
  required_version = ">= 1.0" # ERROR: Unsupported argument
}
