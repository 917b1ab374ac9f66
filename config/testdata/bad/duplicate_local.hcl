locals { app = "a" }
locals {
  app = "b" # ERROR: Duplicate local value
}
