/* capture_ntp.c - a development tool that captures real NTS responses for
 * the seed corpus of fuzz_pkt (mode 3).  It runs one key exchange with the
 * library's KE client, sends one NTS request with the library's codec, waits
 * up to a second for the answer, and writes the mode-3 record: selector,
 * S2C key, transmit timestamp, Unique Identifier, placeholder count, packet.
 * The key in the file is a throwaway session key of a test server; never
 * point this tool at a server whose traffic matters.
 *   capture_ntp HOST KEPORT CAFILE AEAD PLACEHOLDERS OUTFILE [corrupt] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "monitor/aead.h"
#include "monitor/ke.h"
#include "monitor/pkt.h"
#include "monitor/tlsctx.h"

static struct ke_secrets got;
static int ke_ok;

static void
on_ke(const struct ke_result *r, const struct ke_secrets *sec, void *arg)
{
    (void)arg;
    if (r->status == KE_OK) {
        got = *sec;
        ke_ok = 1;
    } else {
        fprintf(stderr, "ke: %s: %s\n", result_ke_status_str(r->status), r->detail);
    }
}

int
main(int argc, char **argv)
{
    struct event_base *base = event_base_new();
    struct tlsctx *tls;
    struct sockaddr_storage ss;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    socklen_t slen;
    struct nke_request req = {.shape = NKE_SHAPE_PLAIN, .naeads = 1};
    struct ke_target kt;
    struct pkt_request pr;
    uint8_t buf[PKT_MAX_LEN], sel;
    char err[256];
    struct pollfd pfd;
    long n;
    int fd;
    FILE *f;

    if (argc < 7 || !base) {
        fprintf(stderr, "usage: capture_ntp HOST KEPORT CAFILE AEAD PLACEHOLDERS OUT [corrupt]\n");
        return 2;
    }
    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)atoi(argv[2]));
        slen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)atoi(argv[2]));
        slen = sizeof(*s6);
    } else {
        fprintf(stderr, "HOST must be an IP literal\n");
        return 2;
    }
    tls = tlsctx_new(argv[3], true, err, sizeof(err));
    if (!tls) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    req.aeads[0] = (uint16_t)atoi(argv[4]);
    kt.host = argv[1];
    kt.addr = (struct sockaddr *)&ss;
    kt.addrlen = slen;
    kt.req = &req;
    kt.timeout_ms = 5000;
    if (!ke_start(base, tls, &kt, on_ke, NULL))
        return 1;
    event_base_dispatch(base);
    tlsctx_free(tls);
    event_base_free(base);
    if (!ke_ok)
        return 1;

    memset(&pr, 0, sizeof(pr));
    pr.aead_id = got.aead;
    pr.c2s_key = got.c2s;
    pr.cookie = got.cookie[0];
    pr.cookie_len = got.cookie_len[0];
    pr.placeholders = (unsigned)atoi(argv[5]);
    if (argc > 7)
        got.cookie[0][got.cookie_len[0] / 2] ^= 0x5A;
    if (tlsctx_random(pr.xmt, sizeof(pr.xmt)) || tlsctx_random(pr.uid, sizeof(pr.uid)) ||
        tlsctx_random(pr.nonce, sizeof(pr.nonce)))
        return 1;
    n = pkt_build_request(&pr, buf, sizeof(buf));
    if (n < 0)
        return 1;
    if (ss.ss_family == AF_INET)
        s4->sin_port = htons(got.ntp_port);
    else
        s6->sin6_port = htons(got.ntp_port);
    fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, slen) != n)
        return 1;
    pfd.fd = fd;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 1000) != 1) {
        fprintf(stderr, "no answer\n");
        return 1;
    }
    n = recv(fd, buf, sizeof(buf), 0);
    close(fd);
    if (n <= 0)
        return 1;
    f = fopen(argv[6], "wb");
    if (!f)
        return 1;
    sel = (uint8_t)(3 | (got.aead == 15 ? 0 : got.aead == 16 ? 1 : got.aead == 17 ? 2 : 3) << 2);
    fwrite(&sel, 1, 1, f);
    fwrite(got.s2c, 1, got.key_len, f);
    fwrite(pr.xmt, 1, 8, f);
    fwrite(pr.uid, 1, PKT_UID_LEN, f);
    sel = (uint8_t)pr.placeholders;
    fwrite(&sel, 1, 1, f);
    fwrite(buf, 1, (size_t)n, f);
    fclose(f);
    printf("%s: %ld-byte response\n", argv[6], n);
    return 0;
}
