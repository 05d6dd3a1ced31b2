/* `veil link`: the vless:// share link (and optionally a QR code) for one user of a node
 * config, built with ctl/vlink.h; `veil link --decode LINK` prints a link's fields. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/cfg.h"
#include "core/err.h"
#include "ctl/vlink.h"
#include "nodecfg/config.h"
#include "nodecfg/links.h"

static void usage(FILE *out)
{
    fputs("usage: veil link -c NODE.json [-u USER | --all] [--address HOST] [--name NAME] [--sni NAME]\n"
          "                 [--sid HEX] [--inbound TAG] [--qr] [--qr-invert]\n"
          "       veil link --decode LINK\n"
          "  Prints the vless:// link for USER (email, UUID or configured id; optional when the\n"
          "  node has one user; --all prints one link per user). HOST is the address clients\n"
          "  dial (required when the inbound listens on all addresses). --sni/--sid pick one of\n"
          "  serverNames/shortIds (default: the first). --qr also prints a QR code (for dark\n"
          "  terminals; --qr-invert for light).\n",
          out);
}

static int decode_link(const char *text)
{
    struct vlink *l = malloc(sizeof(*l));
    if (l == NULL)
        return CLI_EXIT_FAIL;
    const char *why = NULL;
    if (vlink_parse(l, text, strlen(text), &why) < 0) {
        fprintf(stderr, "veil link: not a valid vless:// link: %s\n", why ? why : "malformed");
        free(l);
        return CLI_EXIT_USAGE;
    }
    printf("id: %s\nhost: %s\nport: %u\nencryption: %s\nflow: %s\nsecurity: %s\nsni: %s\nfp: %s\n"
           "pbk: %s\nsid: %s\nspx: %s\ntype: %s\nheaderType: %s\nremark: %s\n",
           l->id, l->host, l->port, l->encryption, l->flow, l->security, l->sni, l->fp, l->pbk, l->sid, l->spx, l->type,
           l->header_type, l->remark);
    free(l);
    return CLI_EXIT_OK;
}

struct link_opts {
    const char *config, *user, *address, *name, *sni, *sid, *inbound;
    bool qr, qr_invert;
};

static int build_link(const struct node_cfg *cfg, const struct link_opts *o, struct vlink *l)
{
    struct node_link_opts lo = {o->user, o->address, o->name, o->sni, o->sid, o->inbound};
    char err[256];
    int rc = node_link_build(cfg, &lo, l, err, sizeof(err));
    if (rc == 0)
        return CLI_EXIT_OK;
    fprintf(stderr, "veil link: %s: %s%s\n", o->config, err,
            rc == ERR_MALFORMED && o->address == NULL && strstr(err, "address") ? "; use --address HOST" : "");
    return CLI_EXIT_USAGE;
}

/* Builds, prints (and QR-prints) one user's link. */
static int print_link(const struct node_cfg *cfg, const struct link_opts *o)
{
    char *text = NULL;
    struct vlink *l = malloc(sizeof(*l));
    if (l == NULL)
        return CLI_EXIT_FAIL;
    int rc = build_link(cfg, o, l);
    if (rc != CLI_EXIT_OK)
        goto out;
    rc = CLI_EXIT_FAIL;
    text = vlink_format_str(l);
    if (text == NULL) {
        fprintf(stderr, "veil link: cannot format the link\n");
        goto out;
    }
    printf("%s\n", text);
    if (o->qr && cli_qr_print(stdout, text, o->qr_invert) < 0) {
        fprintf(stderr, "veil link: the link is too long for a QR code\n");
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    free(text);
    free(l);
    return rc;
}

int cli_link_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"user", required_argument, NULL, 'u'},
        {"address", required_argument, NULL, 'a'},
        {"name", required_argument, NULL, 'n'},
        {"sni", required_argument, NULL, 'S'},
        {"sid", required_argument, NULL, 'I'},
        {"inbound", required_argument, NULL, 'T'},
        {"qr", no_argument, NULL, 'q'},
        {"qr-invert", no_argument, NULL, 'Q'},
        {"decode", required_argument, NULL, 'd'},
        {"all", no_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct link_opts o = {0};
    const char *decode = NULL;
    bool all = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:u:a:n:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o.config = optarg;
            break;
        case 'u':
            o.user = optarg;
            break;
        case 'a':
            o.address = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'S':
            o.sni = optarg;
            break;
        case 'I':
            o.sid = optarg;
            break;
        case 'T':
            o.inbound = optarg;
            break;
        case 'q':
            o.qr = true;
            break;
        case 'Q':
            o.qr = o.qr_invert = true;
            break;
        case 'd':
            decode = optarg;
            break;
        case 'A':
            all = true;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc || (decode == NULL && o.config == NULL) || (all && o.user)) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (decode)
        return decode_link(decode);
    const char *name = o.name;

    struct cfg_ctx c;
    cfg_init(&c, o.config);
    /* Users added through the node's admin API live in its stateDir overlay. */
    struct node_cfg *cfg = node_cfg_load_file(&c, o.config); /* with the stateDir overlay and hub users */
    if (cfg == NULL) {
        cfg_print(&c, stderr);
        cfg_dispose(&c);
        return CLI_EXIT_USAGE;
    }
    cfg_dispose(&c);

    int rc = CLI_EXIT_OK;
    if (!all) {
        rc = print_link(cfg, &o);
    } else {
        /* Every user, one link each; the remark is "<name> <email>" or the email. */
        for (size_t i = 0; rc == CLI_EXIT_OK && i < cfg->n_inbounds; i++) {
            const char *tag = cfg->inbounds[i].tag;
            if (o.inbound && (tag == NULL || strcmp(tag, o.inbound) != 0))
                continue;
            for (size_t u = 0; rc == CLI_EXIT_OK && u < cfg->inbounds[i].n_users; u++) {
                const struct node_user *user = &cfg->inbounds[i].users[u];
                const char *who = user->email ? user->email : user->id_text;
                char remark[VLINK_REMARK_MAX + 1];
                snprintf(remark, sizeof(remark), "%s%s%s", name ? name : "", name ? " " : "", who);
                struct link_opts one = o;
                one.user = user->id_text;
                one.name = remark;
                rc = print_link(cfg, &one);
            }
        }
    }
    node_cfg_unref(cfg);
    return rc == CLI_EXIT_OK && fflush(stdout) != 0 ? CLI_EXIT_FAIL : rc;
}
