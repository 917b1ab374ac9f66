variable "secret" { default = "caller-only" }
locals { caller = "x" }
exec "prep" { command = ["true"] }
module "api" {
  source = "./modules/svc"
}
