exec "token" {
  command = ["./token.sh"]
}

registry "main" {
  address  = "127.0.0.1:5000"
  password = exec.token.stdout # ERROR: Invalid reference to a step
}
