// Validates rendered manifests (kubectl kustomize output, one or more files) against the Kubernetes API schema
// (kubernetes-models) and the prometheus-operator CRD schemas (@kubernetes-models/prometheus-operator): wrong types,
// missing required fields, bad enum values. These schemas allow unknown fields, so a misspelled field passes here;
// strict.cs catches those for the core kinds. Exits 1 naming every object that fails.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const modulePath = (apiVersion, kind) => {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
};

const problems = [];
let count = 0;
for (const file of process.argv.slice(2)) {
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (document.errors.length) {
      problems.push(`${file}: ${document.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const object = document.toJS();
    if (object === null) continue;
    const where = `${file}: ${object.kind ?? "?"} ${object.metadata?.name ?? "?"}`;
    if (!object.apiVersion || !object.kind) {
      problems.push(`${where}: no apiVersion or kind`);
      continue;
    }
    let Model;
    try {
      Model = (await import(modulePath(object.apiVersion, object.kind)))[object.kind];
    } catch {
      problems.push(`${where}: ${object.apiVersion} ${object.kind} is not a kind this validator knows`);
      continue;
    }
    try {
      new Model(object).validate();
      count++;
    } catch (error) {
      problems.push(`${where}: ${error.message}`);
    }
  }
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`${count} objects valid against the Kubernetes and prometheus-operator schemas`);
