exec "run" { command = ["echo", "x"] }
output "image" { value = exec.run.stdout }
