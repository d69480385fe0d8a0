/** The S3 store (AWS SDK): imported separately so that commands without S3 never load the SDK. */
export { s3Store, type S3StoreOptions } from "./store/s3-store.js";
