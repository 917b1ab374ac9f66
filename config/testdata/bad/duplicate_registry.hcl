registry "main" { address = "a:5000" }
registry "main" { address = "b:5000" } # ERROR: Duplicate registry
