exec "list" {
  command = ["ls"]
}

exec "each" {
  for_each = toset(split("\n", exec.list.stdout)) # ERROR: Invalid for_each argument
  command  = ["echo", each.key]
}
