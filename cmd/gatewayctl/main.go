// Command gatewayctl is Obert's operator tool: database migrations, audit
// log verification, consent receipt verification, and (in later versions)
// connector and aid registration.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: gatewayctl COMMAND [ARGS]

Commands:
  migrate [up|status] [--database URL]
                                apply pending database migrations (up), or
                                say which version the schema is at (status)
                                (default: $OBERT_DATABASE_URL)
  audit verify --log URL [--since CHECKPOINT_FILE] --key VERIFIER_KEY
                                fetch the public log over HTTP, recompute it
                                and check its signed checkpoint
  audit prove ENTRY_FILE --key VERIFIER_KEY
                                check a downloaded audit entry offline
  connector register FILE --api URL --token-url URL --client-id ID
                                register or update a connector through the
                                administrations' API (client secret in
                                $OBERT_ADMIN_CLIENT_SECRET)
  consent verify-receipt FILE --keys URL|FILE
                                check a downloaded consent receipt against
                                the published receipt keys
                                (https://obert.example/consent/receipt-keys)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr, getenv)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "connector":
		return runConnector(ctx, args[1:], stdout, stderr, getenv)
	case "consent":
		return runConsent(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gatewayctl: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
