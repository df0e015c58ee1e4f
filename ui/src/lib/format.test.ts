import { describe, expect, test } from "vitest";
import { formatBytes, formatDate, formatEta, formatExpiry, formatLimit, formatSpeed, optionLabel, percent, phaseLabel, secretHelp } from "./format";

describe("formatters", () => {
  test("bytes use SI units with one decimal below ten", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1500)).toBe("1.5 KB");
    expect(formatBytes(48_000_000)).toBe("48 MB");
    expect(formatBytes(4 * 1024 ** 3)).toBe("4.3 GB");
    expect(formatBytes(null)).toBe("—");
  });

  test("speed is empty when nothing moves", () => {
    expect(formatSpeed(0)).toBe("");
    expect(formatSpeed(2_500_000)).toBe("2.5 MB/s");
    // Limits in the binary units rclone's syntax uses: 4M is 4 MiB/s.
    expect(formatLimit(4 << 20)).toBe("4 MiB/s");
    expect(formatLimit(512 * 1024)).toBe("512 KiB/s");
    expect(formatLimit(1.5 * (1 << 20))).toBe("1.5 MiB/s");
    expect(formatLimit(null)).toBe("no limit");
    expect(formatLimit(0)).toBe("0 (not sending)");
  });

  test("eta reads as seconds, minutes or hours left", () => {
    expect(formatEta(null)).toBe("");
    expect(formatEta(1.5)).toBe("2s left");
    expect(formatEta(75)).toBe("1m 15s left");
    expect(formatEta(3 * 3600 + 5 * 60)).toBe("3h 05m left");
  });

  test("percent is clamped and zero without a total", () => {
    expect(percent(5, 10)).toBe(50);
    expect(percent(20, 10)).toBe(100);
    expect(percent(5, null)).toBe(0);
    expect(percent(5, 0)).toBe(0);
  });

  test("expiry says expires in 6 days like SocialSyncer's week-long links", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(formatExpiry("2026-01-07T01:00:00Z", now)).toBe("expires in 6 days");
    expect(formatExpiry("2026-01-01T03:00:00Z", now)).toBe("expires in 3 hours");
    expect(formatExpiry("2026-01-01T00:10:00Z", now)).toBe("expires in 10 min");
    expect(formatExpiry("2025-12-31T00:00:00Z", now)).toBe("expired");
    expect(formatExpiry(null, now)).toBe("");
  });

  test("job statuses read as the phases a person expects", () => {
    expect(phaseLabel("queued")).toBe("waiting");
    expect(phaseLabel("preparing")).toBe("preparing");
    expect(phaseLabel("preparing", "preparing")).toBe("preparing");
    expect(phaseLabel("preparing", "hashing")).toBe("hashing");
    expect(phaseLabel("uploading", "processing")).toBe("processing");
    expect(phaseLabel("succeeded")).toBe("done");
    expect(phaseLabel("waiting_retry")).toBe("retrying");
    expect(phaseLabel("waiting_retry", undefined, "network.connect")).toBe("retrying");
    expect(phaseLabel("waiting_retry", undefined, "network.offline")).toBe("offline");
  });
});

describe("account form labels", () => {
  test("option keys read as words with acronyms in capitals", () => {
    expect(optionLabel("api_url")).toBe("API URL");
    expect(optionLabel("api_key")).toBe("API key");
    expect(optionLabel("access_key_id")).toBe("Access key ID");
    expect(optionLabel("bucket")).toBe("Bucket");
    expect(optionLabel("")).toBe("");
  });

  test("the secret's help says once that it is kept in the keychain", () => {
    expect(secretHelp("API key (sk_live_…), kept in the OS keychain")).toBe("API key (sk_live_…). Stored in the OS keychain; Ferry never shows it again.");
    expect(secretHelp("Secret key")).toBe("Secret key. Stored in the OS keychain; Ferry never shows it again.");
  });
});

describe("dates", () => {
  test("timestamps are formatted, bad ones shown as they are", () => {
    expect(formatDate("2026-11-25T02:13:46Z")).toMatch(/2026/);
    expect(formatDate("not a date")).toBe("not a date");
  });
});
