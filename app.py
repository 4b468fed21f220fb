#!/usr/bin/env python3
"""CDK entry point (`make synth`, `npx cdk synth|deploy`): every stage of infra/stages.py.

cdk-nag (AwsSolutions, HIPAA Security) runs on synthesis: an unacknowledged finding fails it.
"""

from infra import build, new_app

app = new_app()
build(app)
app.synth()
