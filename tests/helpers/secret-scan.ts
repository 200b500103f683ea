/**
 * Runs after every test file (vitest setupFiles): no REST or GraphQL response the file received may
 * contain a secret it registered (instance credentials) or any stored credential ciphertext.
 */
import { afterAll, expect } from 'vitest';
import { knownSecrets, registerSecret, responseBodies } from './http.js';
import { ADMIN_PASSWORD } from './test-app.js';

// The passwords every test file uses for platform users.
registerSecret(ADMIN_PASSWORD);
registerSecret('Passw0rdX');

afterAll(() => {
  const all = responseBodies.join('\n');
  for (const secret of knownSecrets) {
    expect(all.includes(secret), `a response contained the registered secret ${secret.slice(0, 3)}…`).toBe(false);
  }
});
