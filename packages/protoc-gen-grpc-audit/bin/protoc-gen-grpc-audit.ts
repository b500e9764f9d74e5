#!/usr/bin/env node
import { runNodeJs } from "@bufbuild/protoplugin";
import { protocGenGrpcAudit } from "../src/plugin.js";

runNodeJs(protocGenGrpcAudit);
