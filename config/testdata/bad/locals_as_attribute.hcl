locals = { app = "x" } # ERROR: Unsupported argument
