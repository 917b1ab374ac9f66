exec "build" {
  command = ["true"]
}

notify "team" {
  url     = "hooks.example.com/x"  # ERROR: Invalid notify url
  on      = ["failure", "always"]  # ERROR: Invalid notify events
  format  = "xml"                  # ERROR: Invalid notify format
  retries = -1                     # ERROR: Invalid notify retries
  channel = "#ci"                  # ERROR: Unsupported argument
}

notify "team" { # ERROR: Duplicate notify block
  url = "https://example.com"
}

notify "ops" {
  url  = "https://example.com/${exec.build.stdout}" # ERROR: Invalid reference to a step
  link = var.nope                                   # ERROR: Reference to undeclared variable
}

notify "missing" { # ERROR: Missing required argument
}
