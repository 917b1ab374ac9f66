exec "lint" {
  command           = ["true"]
  continue_on_error = "maybe" # ERROR: Invalid continue_on_error argument
}
