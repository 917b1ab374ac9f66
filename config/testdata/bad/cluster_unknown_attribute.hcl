cluster "dev" {
  namepsace = "dev" # ERROR: Unsupported argument
}
