// make bench's TypeScript baseline: the plain CDKTF TypeScript way to synthesize the same stacks.
//
//   node dist/main.js <python-cdktf.out> <outdir>
//
// Reads the manifest and each stack's cdk.tf.json that the Python app wrote and builds the
// same stacks again with the typed TypeScript classes: one TerraformStack per stack, its
// GoogleProvider, LocalBackend, Terraform version pin and terraform_remote_state data sources, every resource with
// the same logical id and the same attributes (keys in camelCase, as a TypeScript app writes
// them), and the same outputs; then App.synth(). So it does the job our Python app does, in
// the toolchain's own language, without jsii between the app and the constructs. Only
// @cdktf/provider-google's submodules in use are loaded (lib/<resource>/index.js), as
// CDKTF's documentation recommends for prebuilt providers.
import * as fs from "fs";
import * as path from "path";
import { App, DataTerraformRemoteStateLocal, LocalBackend, TerraformOutput, TerraformResource, TerraformStack } from "cdktf";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type ResourceClass = new (scope: TerraformStack, id: string, config: JsonObject) => TerraformResource;

// Attributes that are maps of user keys (kept as written), not blocks of schema fields.
const MAP_ATTRIBUTES = new Set(["labels", "default_labels", "metadata", "resource_manager_tags", "tags_map"]);

function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function toConfig(value: Json, key = ""): Json {
  if (Array.isArray(value)) return value.map((item) => toConfig(item, key));
  if (value === null || typeof value !== "object") return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "//" || k === "depends_on") continue;
    out[MAP_ATTRIBUTES.has(key) ? k : camel(k)] = MAP_ATTRIBUTES.has(key) ? v : toConfig(v, k);
  }
  return out;
}

const classes = new Map<string, ResourceClass>();
function resourceClass(terraformType: string): ResourceClass {
  let found = classes.get(terraformType);
  if (!found) {
    const name = terraformType.replace(/^google_/, "");
    const module = require(`@cdktf/provider-google/lib/${name.replace(/_/g, "-")}`);
    found = module[camel(name).replace(/^./, (c) => c.toUpperCase())] as ResourceClass;
    classes.set(terraformType, found);
  }
  return found;
}

function buildStack(app: App, name: string, document: JsonObject): void {
  const stack = new TerraformStack(app, name);
  for (const provider of ((document.provider as JsonObject).google as JsonObject[])) {
    new GoogleProvider(stack, "google", toConfig(provider) as JsonObject);
  }
  const backend = ((document.terraform as JsonObject).backend as JsonObject).local as JsonObject;
  new LocalBackend(stack, { path: backend.path as string });
  const requiredVersion = (document.terraform as JsonObject).required_version;
  if (typeof requiredVersion === "string") stack.addOverride("terraform.required_version", requiredVersion);
  const remoteStates = ((document.data as JsonObject | undefined)?.terraform_remote_state ?? {}) as JsonObject;
  for (const [id, state] of Object.entries(remoteStates)) {
    const config = (state as JsonObject).config as JsonObject;
    new DataTerraformRemoteStateLocal(stack, id, { path: config.path as string });
  }
  for (const [terraformType, instances] of Object.entries(document.resource as JsonObject)) {
    const Resource = resourceClass(terraformType);
    for (const [id, attributes] of Object.entries(instances as JsonObject)) {
      const resource = new Resource(stack, id, toConfig(attributes) as JsonObject);
      const dependsOn = (attributes as JsonObject).depends_on;
      if (dependsOn) resource.addOverride("depends_on", dependsOn);
    }
  }
  for (const [id, output] of Object.entries((document.output ?? {}) as JsonObject)) {
    const { value, description } = output as JsonObject;
    new TerraformOutput(stack, id, { value, description: description as string | undefined });
  }
}

function main(): void {
  const [source, outdir] = process.argv.slice(2);
  if (!source || !outdir) {
    console.error("usage: node dist/main.js <python-cdktf.out> <outdir>");
    process.exit(2);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(source, "manifest.json"), "utf8"));
  const app = new App({ outdir, stackTraces: false });
  for (const [name, stack] of Object.entries(manifest.stacks as Record<string, { synthesizedStackPath: string }>)) {
    buildStack(app, name, JSON.parse(fs.readFileSync(path.join(source, stack.synthesizedStackPath), "utf8")));
  }
  app.synth();
}

main();
