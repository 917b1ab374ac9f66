output "x" { value = "x" }
