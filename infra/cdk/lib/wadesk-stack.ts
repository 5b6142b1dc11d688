// The wadesk stack for `cdk deploy`: infra/template.yaml included as it is
// (SAM transform, Globals and all), with each function's CodeUri replaced by
// the S3 asset of its cargo-lambda build. The resources are defined once, in
// the template; nothing here redefines them.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App, aws_s3_assets as s3assets, aws_sam as sam, CfnRule, Fn, Stack, StackProps, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { Construct } from 'constructs';

/** The repository root (this file runs from infra/cdk/dist/lib). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

/** The one definition of the stack, shared with `sam deploy`. */
export const TEMPLATE_FILE = path.join(REPO_ROOT, 'infra', 'template.yaml');

/** Where `cargo lambda build --release --arm64 --output-format zip` leaves `<binary>/bootstrap.zip`. */
export const DEFAULT_LAMBDA_DIR = path.join(REPO_ROOT, 'target', 'lambda');

/** Stand-in code for synthesizing without a Rust build. */
export const PLACEHOLDER_DIR = path.resolve(__dirname, '..', '..', 'placeholder');

export interface WadeskStackProps extends StackProps {
  /** The stage the stack is named after: the default of the template's Stage parameter. */
  readonly stage: string;
  /** Directory holding `<binary>/bootstrap.zip` for every function. */
  readonly lambdaDir?: string;
  /**
   * Use placeholder code instead of the cargo-lambda builds, so that `cdk synth`
   * runs without Rust. A stack synthesized this way cannot be deployed: a rule
   * in it always fails.
   */
  readonly placeholderAssets?: boolean;
}

export class WadeskStack extends Stack {
  /** The included template; `getResource('WebhookFunction')` etc. */
  public readonly template: CfnInclude;
  /** Function logical ID → the workspace binary whose build is its code. */
  public readonly binaries: Record<string, string> = {};

  constructor(scope: Construct, id: string, props: WadeskStackProps) {
    super(scope, id, props);

    // aws-cdk-lib's typed model of AWS::Serverless::Function lags SAM (it
    // wants an OnSuccess beside every OnFailure destination, for one), so the
    // functions are included "dehydrated": copied as they are, not parsed.
    const functions = serverlessFunctions(TEMPLATE_FILE);
    this.template = new CfnInclude(this, 'Template', {
      templateFile: TEMPLATE_FILE,
      dehydratedResources: Object.keys(functions),
    });
    // The stack is named after the stage: make it the Stage parameter's default.
    this.template.getParameter('Stage').default = props.stage;

    for (const logicalId of Object.keys(functions)) {
      // A dehydrated resource loses its logical ID (aws-cdk-lib 2.278 skips
      // preserveLogicalIds for it), and the template's Refs to it need it.
      this.template.getResource(logicalId).overrideLogicalId(logicalId);
    }

    const lambdaDir = props.lambdaDir ?? DEFAULT_LAMBDA_DIR;
    const missing: string[] = [];
    for (const [logicalId, binary] of Object.entries(functions)) {
      this.binaries[logicalId] = binary;
      let codePath = path.join(lambdaDir, binary, 'bootstrap.zip');
      if (props.placeholderAssets) {
        codePath = PLACEHOLDER_DIR;
      } else if (!fs.existsSync(codePath)) {
        missing.push(codePath);
        continue;
      }
      const code = new s3assets.Asset(this, `${logicalId}Code`, { path: codePath });
      this.template
        .getResource(logicalId)
        .addPropertyOverride('CodeUri', { Bucket: code.s3BucketName, Key: code.s3ObjectKey });
    }
    if (missing.length > 0) {
      throw new Error(
        'No cargo-lambda build for: ' +
          missing.map((p) => path.relative(REPO_ROOT, p)).join(', ') +
          '. Build first, from the repository root: ' +
          'cargo lambda build --release --arm64 --output-format zip ' +
          '(or synthesize with WADESK_CDK_PLACEHOLDER_ASSETS=1, which cannot be deployed).',
      );
    }

    // CDK's own template check at synth (CloudFormation Validate), where it misreads:
    Validations.of(this).acknowledge(
      {
        id: 'CloudFormation-Validate::W2509',
        reason: 'AppSecretParameterName and SecretsKmsKeyArn hold the name of an SSM parameter and a key ARN, not secrets',
      },
      {
        id: 'CloudFormation-Validate::W1001',
        reason: 'JwtIssuerInUse refers to AgentUserPool only in the Fn::If branch of its own condition, CreateUserPool',
      },
    );

    if (props.placeholderAssets) {
      // LogLevel only takes the template's AllowedValues, so this never holds:
      // CloudFormation refuses to create or update a stack from this synth.
      new CfnRule(this, 'PlaceholderCodeIsNotDeployable', {
        assertions: [
          {
            assert: Fn.conditionEquals(this.template.getParameter('LogLevel').valueAsString, 'placeholder'),
            assertDescription:
              'Synthesized with placeholder code (WADESK_CDK_PLACEHOLDER_ASSETS): build with cargo-lambda and synthesize again to deploy.',
          },
        ],
      });
    }
  }
}

/**
 * The template's AWS::Serverless::Function resources: logical ID → the
 * workspace binary (Metadata.BuildProperties.Binary, the key SAM's
 * rust-cargolambda build reads). Read with CfnInclude itself, in a scratch app that is never synthesized.
 */
export function serverlessFunctions(templateFile: string): Record<string, string> {
  const probe = new CfnInclude(new Stack(new App({ autoSynth: false }), 'Probe'), 'Template', { templateFile });
  const functions: Record<string, string> = {};
  for (const child of probe.node.children) {
    if (!(child instanceof sam.CfnFunction)) {
      continue;
    }
    const logicalId = Stack.of(child).resolve(child.logicalId) as string;
    const binary: unknown = child.cfnOptions.metadata?.BuildProperties?.Binary;
    if (typeof binary !== 'string' || binary === '') {
      throw new Error(`${logicalId}: ${templateFile} gives it no Metadata.BuildProperties.Binary`);
    }
    functions[logicalId] = binary;
  }
  if (Object.keys(functions).length === 0) {
    throw new Error(`${templateFile} has no AWS::Serverless::Function`);
  }
  return functions;
}
