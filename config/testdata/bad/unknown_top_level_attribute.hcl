app = "my-app" # ERROR: Unsupported argument
