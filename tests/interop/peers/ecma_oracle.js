// The ECMA-262 engine and ajv as an oracle for mcp_ref's pattern matcher and schema subset
// (tests/interop/test_schema_vs_ajv.py, D-132). One process answers one batch: it reads one
// JSON request on stdin and writes one JSON answer on stdout, so that thousands of cases cost
// one node start.
//
//   node ecma_oracle.js <node_modules>  <  {"regex": [[pattern, [string, ...]], ...],
//                                            "schemas": [[schema, [value, ...]], ...]}
//   ->  {"regex": [[true, false, ...] or {"error": "SyntaxError: ..."}, ...],
//        "schemas": {"ajv2020": [...], "sdk": [...]}}    (each [valid, ...] or {"error": ...};
//                                                          a value ajv threw on: the error)
//
// "regex" asks new RegExp(pattern, "u").test(string): the u flag, as ajv compiles a schema's
// pattern (its option unicodeRegExp, true by default). "schemas" asks two validators:
// "ajv2020", ajv's 2020-12 class (ajv/dist/2020) with the options the TypeScript SDK gives its
// own instance, and "sdk", the SDK's own validator as it creates it (AjvJsonSchemaValidator
// with no argument: ajv's default class, draft-07, same options).
"use strict";
const path = require("path");

const modules = process.argv[2];
const need = (name) => require(path.join(modules, name));

function answer(request) {
  const out = {};
  out.regex = (request.regex || []).map(([source, strings]) => {
    let re;
    try {
      re = new RegExp(source, "u");
    } catch (e) {
      return { error: String(e) };
    }
    return strings.map((s) => re.test(s));
  });
  if (request.schemas) {
    // The SDK's createDefaultAjvInstance (dist/cjs/validation/ajv-provider.js), mirrored.
    const options = { strict: false, validateFormats: true, validateSchema: false, allErrors: true };
    const Ajv2020 = need("ajv/dist/2020").default;
    const addFormats = need("ajv-formats").default;
    const ajv2020 = new Ajv2020(options);
    addFormats(ajv2020);
    const { AjvJsonSchemaValidator } = need(
      "@modelcontextprotocol/sdk/dist/cjs/validation/ajv-provider.js");
    const sdk = new AjvJsonSchemaValidator();
    const run = (compile) => request.schemas.map(([schema, values]) => {
      let validate;
      try {
        validate = compile(schema);
      } catch (e) {
        return { error: String(e) };
      }
      // A schema that refers to itself with nothing in between loops for ever (the spec
      // leaves its behaviour undefined: 2020-12 core §9.4.1): ajv runs out of stack.
      return values.map((v) => { try { return validate(v); } catch (e) { return String(e); } });
    });
    out.schemas = {
      ajv2020: run((schema) => { const v = ajv2020.compile(schema); return (x) => v(x) === true; }),
      sdk: run((schema) => { const v = sdk.getValidator(schema); return (x) => v(x).valid; }),
    };
  }
  return out;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => { process.stdout.write(JSON.stringify(answer(JSON.parse(input)))); });
