/* SPDX-License-Identifier: MIT */
/*
 * gmime_unused.c - weak stand-ins for the parts of GMime that spamsift
 * never calls but g_mime_init() names, linked only when GMime is linked
 * statically (tests/libs.sh).
 *
 * g_mime_init() registers every GMime type and crypto back end.  Its
 * references pull from the archives the GIO stream (and through GFile
 * the whole of GIO: D-Bus, mounts, settings), the gpgme contexts, and
 * libidn2 for the address parser; they in turn load seven shared objects
 * (libmount, libblkid, libselinux, libgpgme, libassuan, libgpg-error,
 * libunistring) whose 1,800 symbol relocations the dynamic loader
 * resolved at the start of every delivered message: 1.4M of the 3.8M
 * instructions of one procmail-style classification (callgrind).
 *
 * A weak definition satisfies the reference, so the linker extracts no
 * archive member for it and --as-needed then drops the shared objects
 * nothing else uses.  Should another reference ever pull the real member
 * in, its strong definition wins and these are ignored: the link never
 * fails because of them.
 *
 * What spamsift gives up: nothing it uses.  It verifies and decrypts
 * nothing (the crypto factories are only called by GMime's verify and
 * decrypt functions), opens no GFile, and reads the raw header values,
 * never the address objects whose international domain names GMime
 * would decode with libidn2 (they keep their ASCII form now).
 */
#include <stddef.h>

#include <gmime/gmime.h>

#define WEAK __attribute__((weak))

/* Types registered for completeness only: GMimeStream's own stands in. */
WEAK GType
g_mime_stream_gio_get_type(void)
{
	return g_mime_stream_get_type();
}

WEAK GType
g_mime_gpg_context_get_type(void)
{
	return g_mime_crypto_context_get_type();
}

WEAK GType
g_mime_pkcs7_context_get_type(void)
{
	return g_mime_crypto_context_get_type();
}

/* Crypto factories: "no context for this protocol", which GMime's
 * verify and decrypt report as an error. */
WEAK GMimeCryptoContext *
g_mime_gpg_context_new(void)
{
	return NULL;
}

WEAK GMimeCryptoContext *
g_mime_pkcs7_context_new(void)
{
	return NULL;
}

/* gpgme_check_version(NULL), which g_mime_init() calls to initialise a
 * library nothing here uses: any version satisfies no requirement. */
const char *gpgme_check_version_internal(const char *, size_t);

WEAK const char *
gpgme_check_version_internal(const char *req, size_t offset)
{
	(void)offset;
	return req == NULL ? "0" : NULL;
}

/* libidn2's conversions: fail, and GMime keeps the domain as written. */
int idn2_to_ascii_8z(const char *, char **, int);
int idn2_to_unicode_8z8z(const char *, char **, int);

WEAK int
idn2_to_ascii_8z(const char *in, char **out, int flags)
{
	(void)in;
	(void)flags;
	if (out != NULL)
		*out = NULL;
	return -1;
}

WEAK int
idn2_to_unicode_8z8z(const char *in, char **out, int flags)
{
	(void)in;
	(void)flags;
	if (out != NULL)
		*out = NULL;
	return -1;
}
