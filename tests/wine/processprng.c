/* bcryptprimitives.dll's ProcessPrng for Wine 8 (Debian 12), which lacks it: Rust's
 * standard library on Windows gets its random numbers from it. Forwards to
 * RtlGenRandom (advapi32!SystemFunction036), which Wine has. Built with mingw-w64 into
 * the Wine prefix of scripts/wine-test only; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
