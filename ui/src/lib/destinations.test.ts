import { beforeEach, describe, expect, test } from "vitest";
import { alsoFor, alsoTo, destinationLabel, pruneAlso } from "./destinations";

describe("fan-out destinations", () => {
  beforeEach(() => alsoTo.set([]));

  test("an addition goes to the picked destination alone until others are ticked", () => {
    expect(alsoFor("library")).toEqual({});
    expect(destinationLabel("library")).toBe("library");
    alsoTo.set(["blog", "library", "s3"]);
    expect(alsoFor("library")).toEqual({ also: ["blog", "s3"] });
    expect(destinationLabel("library")).toBe("library and 2 more");
    expect(destinationLabel("blog")).toBe("blog and 2 more");
    alsoTo.set(["s3"]);
    expect(destinationLabel("blog")).toBe("blog and s3");
  });

  test("removed accounts leave the list", () => {
    alsoTo.set(["blog", "s3"]);
    pruneAlso(["library", "s3"]);
    expect(alsoFor("library")).toEqual({ also: ["s3"] });
  });
});
