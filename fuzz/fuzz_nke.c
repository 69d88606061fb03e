/* fuzz_nke.c - libFuzzer target for the NTS-KE response parser: the stream
 * scanner and the validator, for each request shape, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "monitor/nke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct nke_request reqs[] = {
        {.shape = NKE_SHAPE_PLAIN, .aeads = {15, 17, 16, 30}, .naeads = 4},
        {.shape = NKE_SHAPE_POOL_CAPS, .aeads = {15}, .naeads = 1, .token = "t"},
        {.shape = NKE_SHAPE_POOL_CAPS, .aeads = {15}, .naeads = 1, .token = "t",
         .experimental = true},
        {.shape = NKE_SHAPE_POOL_FIXED_KEY, .aeads = {17}, .naeads = 1, .token = "t"},
        {.shape = NKE_SHAPE_POOL_KE, .aeads = {17, 15}, .naeads = 2, .token = "k",
         .uuid = "u"},
    };
    struct nke_response resp;
    char detail[RESULT_DETAIL_MAX];
    size_t end;

    if (size > NKE_MAX_MSG_LEN + 16)
        return 0;
    if (nke_message_end(data, size, &end) && end > size)
        __builtin_trap();
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        enum ke_status st = nke_parse_response(data, size, &reqs[i], &resp, detail);
        if (st == KE_OK && reqs[i].shape != NKE_SHAPE_POOL_CAPS &&
            (resp.ncookies < 1 || resp.aead < 0 || resp.nkept > NKE_MAX_COOKIES))
            __builtin_trap();
        for (int k = 0; st == KE_OK && k < resp.nkept; k++) {
            if (resp.cookie[k] < data || resp.cookie[k] + resp.cookie_len[k] > data + size)
                __builtin_trap();
        }
        if (memchr(detail, '\0', sizeof(detail)) == NULL)
            __builtin_trap();
    }
    return 0;
}
