#!/usr/bin/env node
// `cdk synth` / `cdk deploy` entry point (cdk.json). Settings:
//   -c stage=NAME                    the template's Stage; the stack is wadesk-NAME (default dev)
//   -c lambdaDir=PATH                cargo-lambda's output directory (default <repo>/target/lambda)
//   WADESK_CDK_PLACEHOLDER_ASSETS=1  synthesize without a Rust build (not deployable)
//   (or -c placeholderAssets=true)
// Account and region come from the CLI's environment (CDK_DEFAULT_ACCOUNT,
// CDK_DEFAULT_REGION); the app makes no lookups, so synth needs no AWS account.
import { App } from 'aws-cdk-lib';

import { WadeskStack } from '../lib/wadesk-stack';

// No AWS::CDK::Metadata resource: the stack holds what the template defines, nothing else.
const app = new App({ analyticsReporting: false });
const stage: string = app.node.tryGetContext('stage') ?? 'dev';
if (!/^[a-z0-9-]{1,20}$/.test(stage)) {
  throw new Error(`stage must match ^[a-z0-9-]{1,20}$ (the template's Stage pattern), got ${JSON.stringify(stage)}`);
}
const truthy = (value: unknown): boolean => ['1', 'true', 'yes'].includes(String(value ?? '').toLowerCase());
const placeholderAssets =
  truthy(process.env.WADESK_CDK_PLACEHOLDER_ASSETS) || truthy(app.node.tryGetContext('placeholderAssets'));

new WadeskStack(app, `wadesk-${stage}`, {
  stage,
  lambdaDir: app.node.tryGetContext('lambdaDir'),
  placeholderAssets,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: `wadesk ${stage}: infra/template.yaml deployed by the CDK app in infra/cdk`,
});
