exec "run" {
  command = [
    var.secret, # ERROR: Reference to undeclared variable
    local.caller, # ERROR: Reference to undeclared local value
    exec.prep.stdout, # ERROR: Reference to undeclared step
  ]
}
