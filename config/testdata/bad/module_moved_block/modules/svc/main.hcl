exec "new" { command = ["true"] }
moved { # ERROR: Moved block in a module
  from = exec.old
  to   = exec.new
}
