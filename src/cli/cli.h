/* The `veil` command-line tool: one file per subcommand, dispatched from main.c's table.
 * Each subcommand gets argv with its own name in argv[0] and returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef VEIL_CLI_CLI_H
#define VEIL_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,
    CLI_EXIT_USAGE = 2,
};

int cli_x25519_main(int argc, char **argv); /* cmd_x25519.c: REALITY key pairs */
int cli_uuid_main(int argc, char **argv);   /* cmd_uuid.c: user ids */
int cli_link_main(int argc, char **argv);   /* cmd_link.c: vless:// share links and QR codes */
int cli_client_main(int argc, char **argv); /* cmd_client.c: local SOCKS5/HTTP proxy through a tunnel */
int cli_scan_main(int argc, char **argv);   /* cmd_scan.c: is this site a good REALITY target? */
int cli_qr_main(int argc, char **argv);     /* cmd_qr.c: any text as a QR code in the terminal */
int cli_user_main(int argc, char **argv);   /* cmd_user.c: hub users (admin API, cli/hubapi.h) */
int cli_node_main(int argc, char **argv);   /* cmd_node.c: hub nodes */
int cli_plan_main(int argc, char **argv);   /* cmd_plan.c: hub plans */
int cli_token_main(int argc, char **argv);  /* cmd_token.c: hub API tokens, TOTP */
int cli_pay_main(int argc, char **argv);    /* cmd_pay.c: hub invoices and payments */

/* cmd_node_drain.c: `veil node drain|undrain` (HAProxy runtime API and/or the hub), its usage lines. */
int cli_node_drain(int argc, char **argv);
int cli_node_undrain(int argc, char **argv);
void cli_node_drain_usage(FILE *out);
/* cmd_node_target.c: `veil node rotate-target`, `veil node target` */
int cli_node_rotate_target(int argc, char **argv);
int cli_node_target(int argc, char **argv);
void cli_node_target_usage(FILE *out);
int cli_node_scan(int argc, char **argv);
void cli_node_scan_usage(FILE *out);

/* Prints text as a QR code with Unicode half blocks (two module rows per line) and a quiet
 * zone. By default light modules are drawn (for dark terminals); invert draws dark ones.
 * ERR_NOMEM / ERR_TOO_LONG when libqrencode cannot encode it. */
int cli_qr_print(FILE *out, const char *text, bool invert);

#endif
