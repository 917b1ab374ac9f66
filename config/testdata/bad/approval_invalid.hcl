exec "build" {
  command = ["true"]
}

exec "deploy" {
  command = ["true"]
  approval {
    approvers = "alice" # ERROR: Invalid approvers
    timeout   = "a day" # ERROR: Invalid approval timeout
  }
}

exec "release" {
  command = ["true"]
  approval {
    approvers = [exec.build.stdout] # ERROR: Invalid approval argument
    quorum    = 2                   # ERROR: Unsupported argument
  }
  approval { # ERROR: Duplicate approval block
  }
}
