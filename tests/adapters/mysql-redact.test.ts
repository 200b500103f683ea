import { describe, expect, it } from 'vitest';
import { parseGrants, redactGrantLine } from '../../src/adapters/mysql.js';

describe('MySQL/MariaDB grant lines', () => {
  it('never keep a password hash, whatever form SHOW GRANTS prints it in', () => {
    const lines = [
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*1DBA1CDDE63BA3039DB2E89485E76D87E37C1C6C'",
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA mysql_native_password USING '*B69027D44F6E5EDC07F1AEAD1477967B16F28227' OR unix_socket",
      "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA ed25519 USING PASSWORD('it''s secret')",
      "GRANT SELECT ON `shop`.* TO `app`@`%`",
    ];
    const out = lines.map(redactGrantLine);
    expect(out[0]).toBe("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '<redacted>'");
    expect(out[1]).toBe("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA mysql_native_password USING '<redacted>' OR unix_socket");
    expect(out[2]).toBe("GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED VIA ed25519 USING PASSWORD('<redacted>')");
    expect(out[3]).toBe(lines[3]);
    // Redaction does not change what the grants mean.
    expect(parseGrants(out)).toEqual(parseGrants(lines));
  });
});
