/** The latest ThreatIntelIndicators row of one indicator of the feed, as the Log Analytics client reads it. */
export interface FeedIndicator {
  /** The indicator's id (the table's `Id`). */
  id: string;
  /** STIX observable key, e.g. `ipv4-addr:value`, `file:hashes.'SHA-256'`. */
  observableKey: string;
  observableValue: string;
  confidence: number;
  sourceSystem: string;
  isActive: boolean;
  isDeleted: boolean;
  /** ISO times. */
  validFrom?: string;
  validUntil?: string;
  lastUpdated: string;
  /** The STIX object's name and description (from `Data`), when present. */
  name?: string;
  description?: string;
  /** One of TI_SYNC_MICROSOFT_SOURCES holds the same observable, active. */
  coveredByMicrosoft: boolean;
}

/** An indicator Defender holds (ours or anyone's), as the Defender client lists it. */
export interface DefenderIndicator {
  id: string;
  indicatorValue: string;
  indicatorType: string;
  /** One of DEFENDER_ACTIONS for the indicators we write; Defender may report others for the rest. */
  action: string;
  title?: string;
  description?: string;
  application?: string;
  /** ISO time, absent when it does not expire. */
  expirationTime?: string;
  creationTimeDateTimeUtc?: string;
}
