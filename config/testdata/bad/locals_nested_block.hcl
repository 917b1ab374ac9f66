locals {
  app = "x"
  nested { # ERROR: Unsupported block type
  }
}
