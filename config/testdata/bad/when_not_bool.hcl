exec "deploy" {
  when    = "yes" # ERROR: Invalid when argument
  command = ["true"]
}
