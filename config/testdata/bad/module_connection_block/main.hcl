registry "main" { address = "127.0.0.1:5000" }
module "api" {
  source = "./modules/svc"
}
