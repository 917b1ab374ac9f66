ansflow {
  backend { # ERROR: Missing type for backend
  }
}
