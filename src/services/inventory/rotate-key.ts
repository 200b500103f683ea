/** Re-encrypts every stored credential secret under a new key, in one transaction: either all
 * secrets move to the new key or none does. Secrets already under the new key are left alone. */
import type { PrismaClient } from '../../generated/prisma/client.js';
import type { CredentialKey } from '../../lib/crypto.js';

export async function rotateCredentialKey(prisma: PrismaClient, oldKey: CredentialKey, newKey: CredentialKey): Promise<{ rotated: number; skipped: number }> {
  return prisma.$transaction(
    async (tx) => {
      const rows = await tx.credential.findMany({ select: { id: true, passwordCipher: true, passwordKeyId: true } });
      let rotated = 0;
      let skipped = 0;
      for (const r of rows) {
        if (r.passwordKeyId === newKey.id) {
          skipped++;
          continue;
        }
        const sealed = newKey.encrypt(oldKey.decrypt(r.passwordCipher, r.passwordKeyId)); // throws → whole rotation rolls back
        await tx.credential.update({ where: { id: r.id }, data: { passwordCipher: sealed.cipher, passwordKeyId: sealed.keyId } });
        rotated++;
      }
      return { rotated, skipped };
    },
    { timeout: 600_000 },
  );
}
