/* `veil`: the command-line tool. A {name, fn, help} table of subcommands (STYLE.md §9);
 * each lives in its own file (cli/cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/version.h"

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct subcommand subcommands[] = {
    {"x25519", cli_x25519_main, "generate or derive a REALITY key pair (as `xray x25519`)"},
    {"uuid", cli_uuid_main, "generate a user id, or map a string to one (as `xray uuid`)"},
    {"link", cli_link_main, "print a user's vless:// share link and QR code from a node config"},
    {"client", cli_client_main, "local SOCKS5 / HTTP CONNECT proxy through VLESS + REALITY (+ Vision)"},
    {"scan", cli_scan_main, "check whether a site is a good REALITY target (TLS 1.3, layout, group)"},
    {"qr", cli_qr_main, "print a link or URL as a QR code in the terminal"},
    {"user", cli_user_main, "manage users on a veil-hub (add, list, show, disable, enable, rotate-token)"},
    {"node", cli_node_main, "register and list nodes on a veil-hub"},
    {"plan", cli_plan_main, "create and list plans on a veil-hub"},
    {"token", cli_token_main, "admin API tokens on a veil-hub (create, list, revoke, totp-enable, session)"},
    {"pay", cli_pay_main, "invoices and payments on a veil-hub (invoice, list, show, refund)"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show this help"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: veil <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(out, "\n`veil <command> --help` describes a command's options.\n");
}

static int cmd_version(int argc, char **argv)
{
    printf("veil %s (VLESS + REALITY + XTLS Vision, Xray-compatible)\n", VEIL_VERSION);
    return CLI_EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    usage(stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(name, "--version") == 0 || strcmp(name, "-v") == 0)
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(subcommands[i].name, name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "veil: unknown command \"%s\"\n\n", name);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
