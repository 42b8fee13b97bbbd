#!/usr/bin/env bash
# Makes a Python with aiosmtpd (pinned in tests/smtp/requirements.txt) for the email alert
# test, which starts its own SMTP server (tests/smtp/aiosmtpd_server.py) with STARTTLS and
# AUTH LOGIN on a certificate it generates.
# Usage: source tests/smtp/start.sh   → exports SLIPWAY_AIOSMTPD_PYTHON.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$repo/target"
smtp_venv="${SMTP_VENV:-$repo/target/aiosmtpd-venv}"
if ! "$smtp_venv/bin/python" -c "import aiosmtpd" 2>/dev/null; then
    python3 -m venv "$smtp_venv"
    "$smtp_venv/bin/pip" install --quiet --disable-pip-version-check -r "$repo/tests/smtp/requirements.txt"
fi
export SLIPWAY_AIOSMTPD_PYTHON="$smtp_venv/bin/python"
echo "aiosmtpd for the email alert test: $SLIPWAY_AIOSMTPD_PYTHON"
