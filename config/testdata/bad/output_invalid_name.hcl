output "my image" { value = "x" } # ERROR: Invalid output name
